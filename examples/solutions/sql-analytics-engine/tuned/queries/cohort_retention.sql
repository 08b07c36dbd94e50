select cohort, weeks_after, customers from wh_cohort_retention
