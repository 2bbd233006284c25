"""Invitations to planned sessions, their short-link answers, reminders and the overdue list
(issue 18 points 4-5).

- ``due.py``: the next dose due for everyone, in one set-based statement (the rule of
  ``registry/doses/rules.earliest_date`` and ``vaccines.min_interval_before`` written as SQL);
- ``select.py``: who a session may invite (group, age, area, organisation, due by a day);
- ``send.py``: assign them to the session's slots within capacity, the wait list, the texts;
- ``answer.py``: the invitee's confirm, decline or another slot, the wait list moving up;
- ``attendance.py``: what the desk sees at check-in, the no-shows after the session;
- ``reminders.py``: the reminder run and the overdue (defaulter) list with its XLSX;
- ``texts.py``: the texts themselves (unaccented Vietnamese, within one SMS).
"""
