"""A FHIR R4 server with SMART Backend Services auth, for the demo, the tests and benchmarks."""
