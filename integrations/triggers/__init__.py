"""Pipeline triggers: Echo's webhook, git and pipeline matching, cron schedules, and starting the matches."""
