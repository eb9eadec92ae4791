"""Catalog writes: every change to catalog rows and every call to AWS that leads to one."""
