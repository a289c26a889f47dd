"""pytest: the .rst pages are doctested; conf.py is Sphinx's, not a test module."""

collect_ignore = ["conf.py"]
