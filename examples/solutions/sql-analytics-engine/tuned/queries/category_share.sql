select week, category, revenue, share from wh_category_share
