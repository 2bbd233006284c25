"""The ordered change log partner apps read by cursor or receive as webhooks (issue 19)."""
