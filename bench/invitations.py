"""Issue 18's targets (``bench/invitations.py``), one part at a time, each in its own module
and writing its own result file:

* ``sender`` (``bench/invitations_sender.py`` → ``bench/results/invitations.json``): the SMS
  sender to the local SMPP simulator, sustained messages a second and a SIGKILL part-way
  (target ≥ 500/s, 0 lost, 0 duplicates);
* ``invite`` (``bench/invitations_invite.py`` → ``invitations_invite.json``): plan a session of
  capacity N and invite from 100,000 eligible (exactly N, no person twice, ≤ 5 s);
* ``upload`` (``bench/invitations_upload.py`` → ``invitations_upload.json``): an
  organisation's list of 100,000 rows checked against a 10M register (≤ 60 s).

    nice -n 10 .venv/bin/python bench/invitations.py sender|invite|upload [their options]
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

PARTS = {
    "sender": "invitations_sender",
    "invite": "invitations_invite",
    "upload": "invitations_upload",
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in PARTS:
        sys.exit(f"usage: bench/invitations.py {'|'.join(PARTS)} [options]\n\n{__doc__}")
    part = sys.argv.pop(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    importlib.import_module(PARTS[part]).main()


if __name__ == "__main__":
    main()
