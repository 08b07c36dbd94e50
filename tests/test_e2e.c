/* test_e2e.c - latency matching: by forwarded record id first, else by key; the first send of a
 * duplicate wins; ids and keys of the same bytes do not collide; many entries survive growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "e2e.h"

static void test_e2e__by_id_then_key(void **state)
{
    (void)state;
    e2e *t;
    assert_int_equal(e2e_new(&t), 0);
    assert_true(e2e_add(t, true, 7, "k7", 2, 1000));
    assert_true(e2e_add(t, true, 8, NULL, 0, 2000));
    int64_t sent = 0;
    assert_true(e2e_find(t, true, 7, NULL, 0, &sent));
    assert_int_equal(sent, 1000);
    assert_true(e2e_find(t, false, 0, "k7", 2, &sent));
    assert_int_equal(sent, 1000);
    /* an unknown id falls back to the key */
    assert_true(e2e_find(t, true, 99, "k7", 2, &sent));
    assert_int_equal(sent, 1000);
    assert_true(e2e_find(t, true, 8, "zz", 2, &sent));
    assert_int_equal(sent, 2000);
    assert_false(e2e_find(t, true, 99, "zz", 2, &sent));
    assert_false(e2e_find(t, false, 0, NULL, 0, &sent));
    e2e_free(t);
}

static void test_e2e__first_send_wins(void **state)
{
    (void)state;
    e2e *t;
    assert_int_equal(e2e_new(&t), 0);
    assert_true(e2e_add(t, true, 1, "a", 1, 10));
    assert_true(e2e_add(t, true, 1, "a", 1, 50)); /* a duplicate copy, sent later */
    assert_int_equal(e2e_size(t), 2);
    int64_t sent = 0;
    assert_true(e2e_find(t, false, 0, "a", 1, &sent));
    assert_int_equal(sent, 10);
    e2e_free(t);
}

static void test_e2e__id_and_key_apart(void **state)
{
    (void)state;
    e2e *t;
    assert_int_equal(e2e_new(&t), 0);
    uint64_t id = 5;
    assert_true(e2e_add(t, true, id, NULL, 0, 1));
    int64_t sent = 0;
    assert_false(e2e_find(t, false, 0, &id, sizeof id, &sent)); /* the id's bytes as a key */
    e2e_free(t);
}

static void test_e2e__grows(void **state)
{
    (void)state;
    e2e *t;
    assert_int_equal(e2e_new(&t), 0);
    char key[400];
    memset(key, 'x', sizeof key);
    for (int i = 0; i < 20000; i++) {
        memset(key, 'x', sizeof key);
        int n = snprintf(key, 32, "%d", i);
        key[n] = 'x';
        /* every 1000th key is long, past the lookup's stack buffer */
        assert_true(e2e_add(t, true, (uint64_t)i, key, i % 1000 ? (size_t)n : sizeof key, i));
    }
    assert_int_equal(e2e_size(t), 40000);
    for (int i = 0; i < 20000; i++) {
        memset(key, 'x', sizeof key);
        int n = snprintf(key, 32, "%d", i);
        key[n] = 'x';
        int64_t sent = -1;
        assert_true(e2e_find(t, false, 0, key, i % 1000 ? (size_t)n : sizeof key, &sent));
        assert_int_equal(sent, i);
        assert_true(e2e_find(t, true, (uint64_t)i, NULL, 0, &sent));
        assert_int_equal(sent, i);
    }
    e2e_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e__by_id_then_key),
        cmocka_unit_test(test_e2e__first_send_wins),
        cmocka_unit_test(test_e2e__id_and_key_apart),
        cmocka_unit_test(test_e2e__grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
