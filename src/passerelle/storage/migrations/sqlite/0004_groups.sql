-- Reserved for the groups part of the 'beyond text' work; filled in by its change.
SELECT 1;
