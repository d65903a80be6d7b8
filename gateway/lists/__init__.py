"""The list engine: legacy page/num windows over token-paged upstream lists — views, walks, counts,
ranges, skimmed pages and the cache they live in. May import upstream, dialect and the bottom layer."""
