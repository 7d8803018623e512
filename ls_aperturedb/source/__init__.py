"""The source storage flow: ApertureDB queries -> task data and predictions -> tasks; media streaming."""
