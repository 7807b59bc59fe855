"""Sigma rules for CloudTrail and Cloud Audit Logs, converted through pySigma into cloud-monitor rules."""
