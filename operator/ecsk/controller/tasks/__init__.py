"""Task (RunTask) and ScheduledTask reconcilers."""
