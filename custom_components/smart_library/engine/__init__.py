"""Smart Library domain core: pure Python, no Home Assistant imports."""
