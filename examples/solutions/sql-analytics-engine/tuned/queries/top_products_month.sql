select month, rank, product_id, revenue from wh_top_products_month order by month, rank
