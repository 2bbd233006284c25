"""FHIR bulk export jobs (issue 19 point 2): the job rows and their life (``jobs.py``) and the
streamed, scoped rows an export reads (``rows.py``). The mapping of rows to resources and the
runner that writes the files live in ``fhir/`` (layer 5), which calls these."""
