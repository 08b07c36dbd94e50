-- Emits one INSERT per line of the drop, then recomputes the drop's own calendar day.
local input, batch = arg[1], tonumber(arg[2])
local out = io.stdout
out:write([[
create table if not exists dim_customers (customer_id bigint, email text, country text, segment text);
create table if not exists fct_orders (order_id bigint, customer_id bigint, order_ts timestamptz,
  status text, channel text, amount numeric(12,2));
create table if not exists daily_sales (day date, orders bigint, revenue numeric(14,2));
create table if not exists quarantine_orders (order_id bigint, reason text);
]])
if batch == 0 then
  out:write("insert into dim_customers select customer_id::bigint, email, country, segment from raw_customers;\n")
end
local f = assert(io.open(input, "rb"))
f:read("l")
for line in f:lines() do
  local id, cust, ts, status, channel, amount = line:match("^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)")
  if id then
    if cust == "" then cust = "0" end
    out:write(string.format("insert into fct_orders values (%s, %s, '%s', '%s', '%s', %s);\n",
      id, cust, ts, status, channel, amount))
  end
end
f:close()
local day = os.date("!%Y-%m-%d", 1767571200 + batch * 86400)  -- 2026-01-05 + batch days
out:write(string.format([[
delete from daily_sales where day = '%s';
insert into daily_sales select '%s', count(*), coalesce(sum(amount), 0) from fct_orders
  where (order_ts at time zone 'UTC')::date = '%s';
]], day, day, day))
