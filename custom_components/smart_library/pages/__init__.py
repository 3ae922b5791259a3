"""The members' own door: the online induction, each branch's public page, the floor plans.

Served without a Home Assistant account under one path prefix (`views.PUBLIC`), so that a
reverse proxy can publish it and nothing else of Home Assistant. Members prove who they are
with card and PIN through the doors' own decision path and lock-out (`access.decisions`).
"""
