"""Business messaging's rules, pure (docs/business.md): ids and addresses of businesses, the
per-business person ids, the Cloud API error table, the 24-hour window, consent scopes and STOP
words, messaging-limit tiers and quality ratings, and the order in which a send is judged."""
