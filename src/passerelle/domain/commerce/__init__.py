"""Commerce (docs/commerce.md): money in integer minor units, products of a catalog, orders priced
from the catalog and their statuses, payments. Pure values and functions."""
