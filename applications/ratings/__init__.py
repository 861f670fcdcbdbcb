"""好差评: ratings after completion and the unit lead's follow-up of a bad rating."""
