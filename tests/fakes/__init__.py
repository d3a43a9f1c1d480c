"""Local stand-ins for the CRM portals the push tests talk to, over real sockets."""
