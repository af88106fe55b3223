"""Delegate pages: the scan page `/q/{token}`, its file, and the delegate home `/d/{token}`."""
