-- Reserved for stories; filled in by its change.
SELECT 1;
