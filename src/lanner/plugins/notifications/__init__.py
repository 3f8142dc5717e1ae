"""Chat notifications (Slack, Microsoft Teams, Discord, Google Chat) sent to incoming webhooks."""
