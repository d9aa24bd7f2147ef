"""The operators' web console: server-rendered pages, one small script for the live feed."""
