"""The Socket Mode ingress: Slack's envelopes over WebSocket, published as the HTTP gateway's requests.

For a bot with no public URL: the ingress opens the connections to Slack itself, with the
app-level token, so nothing has to reach it (docs/deployment.md says when to choose it).
"""
