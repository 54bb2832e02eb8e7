"""Reads for pages and the API: querysets shaped for what is shown, with their related rows fetched up front."""
