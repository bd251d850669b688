"""Guideline, label and protocol rules: milestones, events and recommendations."""
