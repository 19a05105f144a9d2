"""Client activations: the vendor activating our application for a practice, tracked here."""
