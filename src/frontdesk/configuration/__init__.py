"""Configuration as code and configuration versions (``frontdesk config ...``)."""
