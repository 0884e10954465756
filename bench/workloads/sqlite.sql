-- sqlite.sql - 100k-row SQLite workload for tracer benchmarks (Debian sqlite3 CLI).
-- Run as: sqlite3 -batch :memory: '.read sqlite.sql'   (in-memory database, deterministic output)
-- Rows come from a recursive CTE with a fixed arithmetic "random" sequence, inserted in one
-- transaction; then indexes, aggregate queries, a join, updates and deletes.
PRAGMA cache_size = -16000;

CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, score INTEGER);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, item TEXT NOT NULL,
                    qty INTEGER NOT NULL, price REAL NOT NULL, note TEXT);

BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 5000)
INSERT INTO customers(id, name, city, score)
  SELECT i, 'customer-' || i, 'city-' || (i * 7919 % 97), (i * 104729) % 1000 FROM seq;

WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 100000)
INSERT INTO orders(id, customer, item, qty, price, note)
  SELECT i,
         1 + (i * 2654435761) % 5000,
         'item-' || ((i * 40503) % 1777),
         1 + (i * 31) % 9,
         ((i * 7477) % 100000) / 100.0,
         CASE WHEN i % 3 = 0 THEN printf('note %d: %s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26)) END
  FROM seq;
COMMIT;

CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_item ON orders(item, qty);
CREATE INDEX customers_city ON customers(city);

SELECT 'orders', count(*), sum(qty), printf('%.2f', sum(qty * price)) FROM orders;
SELECT 'top items', group_concat(item, ',') FROM
  (SELECT item FROM orders GROUP BY item ORDER BY sum(qty) DESC, item LIMIT 5);
SELECT 'top cities', group_concat(city || '=' || total, ',') FROM
  (SELECT c.city, printf('%.2f', sum(o.qty * o.price)) AS total
     FROM orders o JOIN customers c ON c.id = o.customer
     GROUP BY c.city ORDER BY sum(o.qty * o.price) DESC, c.city LIMIT 5);
SELECT 'notes', count(*), sum(length(note)) FROM orders WHERE note LIKE '%xyz';
SELECT 'distinct', count(DISTINCT customer), count(DISTINCT item) FROM orders;

BEGIN;
UPDATE orders SET price = price * 1.1 WHERE customer % 10 = 3;
UPDATE customers SET score = score + 1 WHERE city IN ('city-1', 'city-2', 'city-3');
DELETE FROM orders WHERE qty = 9 AND id % 2 = 0;
COMMIT;

SELECT 'after', count(*), printf('%.2f', sum(qty * price)) FROM orders;
SELECT 'ranked', count(*) FROM
  (SELECT customer, row_number() OVER (PARTITION BY customer ORDER BY price DESC) AS rn FROM orders)
  WHERE rn = 1;
