"""Rule tables as versioned data: the one door through which package data reaches the core."""
