"""Classifiers: the Classifier protocol, the transformer model, urgency signals, language id."""
