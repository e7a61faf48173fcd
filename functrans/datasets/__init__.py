"""Data files shipped with functrans (see README.md here); read them with functrans.data."""
