"""HL7 FHIR R4 views of the registry (issue 19): the service functions' results mapped to
``Patient``, ``Immunization``, ``Bundle``, ``OperationOutcome`` and the
``CapabilityStatement``. It calls the registry's services and never the store directly; the
routes are ``api/routes/fhir.py``."""
