-- GDPR erasure requests of one file. psql variables: requests (the CSV file), file. A request for
-- a customer the shop knows erases them everywhere in the sink: their dimension row goes, their
-- orders move to the anonymous member -1 (so facts and daily totals keep them), and erased_customers
-- keeps later orders and dimension reloads away from them. A request for an unknown id is
-- quarantined.
begin;
create temp table rstage (request_id bigint, customer_id text, requested_at text) on commit drop;
\set copy_requests '\\copy rstage from ' :'requests' ' with (format csv, header true)'
:copy_requests

insert into quarantine_erasures
select request_id, customer_id::bigint, requested_at::timestamptz, 'unknown customer'
from rstage r
where not exists (select 1 from raw_customers c where c.customer_id = r.customer_id);

insert into erased_customers
select customer_id::bigint, min(requested_at::timestamptz)
from rstage r
where exists (select 1 from raw_customers c where c.customer_id = r.customer_id)
group by 1
on conflict (customer_id) do nothing;

update fct_orders set customer_id = -1
where customer_id in (select customer_id from erased_customers);
delete from dim_customers where customer_id in (select customer_id from erased_customers);
insert into etl_loaded_files (name) values (:'file');
commit;
