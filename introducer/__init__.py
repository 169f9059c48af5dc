"""Introducer node and client: signed announcements (grows in later issues)."""
