"""The directory: who may find whom, by address or by account id."""
