"""Every side effect the workflows cause: the case record, documents, messages."""
