"""Answering Service API v2: a server compatible with TriageLogic's answering-service API."""
