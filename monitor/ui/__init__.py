"""``monitor ui``: a web page over the state (alerts, events, silences, rules, health); never the inputs."""
