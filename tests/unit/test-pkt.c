/*
 * test-pkt.c - the packet pool: fixed size, O(1) alloc and free, headroom.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datapath/pkt.h"

#define ROOM	2048

static void
test_pool_exhaustion(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(4, ROOM);
	struct pkt	*p[4];

	(void)state;
	assert_non_null(pool);
	assert_int_equal(pkt_pool_avail(pool), 4);
	for (int i = 0; i < 4; i++) {
		assert_non_null(p[i] = pkt_alloc(pool));
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(p[i], p[j]);
	}
	assert_int_equal(pkt_pool_avail(pool), 0);
	assert_null(pkt_alloc(pool));

	pkt_free(p[2]);
	assert_int_equal(pkt_pool_avail(pool), 1);
	/* LIFO: the buffer just freed, still in cache, comes back first. */
	assert_ptr_equal(pkt_alloc(pool), p[2]);
	assert_null(pkt_alloc(pool));

	for (int i = 0; i < 4; i++)
		pkt_free(p[i]);
	assert_int_equal(pkt_pool_avail(pool), 4);
	pkt_pool_destroy(pool);
}

static void
test_buffers_are_separate_and_full_size(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(3, ROOM);
	struct pkt	*p[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		p[i] = pkt_alloc(pool);
		assert_int_equal(p[i]->room, PKT_HEADROOM + ROOM);
		memset(p[i]->buf, 'a' + i, p[i]->room);
	}
	for (int i = 0; i < 3; i++) {
		for (uint32_t j = 0; j < p[i]->room; j++)
			assert_int_equal(p[i]->buf[j], 'a' + i);
		assert_int_equal((uintptr_t)p[i] % 64, 0);
		pkt_free(p[i]);
	}
	pkt_pool_destroy(pool);
}

static void
test_alloc_resets(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(1, ROOM);
	struct pkt	*p;

	(void)state;
	p = pkt_alloc(pool);
	assert_int_equal(pkt_headroom(p), PKT_HEADROOM);
	assert_int_equal(p->len, 0);
	assert_int_equal(pkt_tailroom(p), ROOM);
	assert_non_null(pkt_push(p, 20));
	p->len += 100;
	pkt_free(p);

	p = pkt_alloc(pool);
	assert_int_equal(pkt_headroom(p), PKT_HEADROOM);
	assert_int_equal(p->len, 0);
	pkt_free(p);
	pkt_pool_destroy(pool);
}

static void
test_push_pull_limits(void **state)
{
	struct pkt_pool	*pool = pkt_pool_create(1, ROOM);
	struct pkt	*p = pkt_alloc(pool);
	uint8_t		*frame = p->data;

	(void)state;
	memcpy(p->data, "payload", 7);
	p->len = 7;

	/* An outer header goes in front without moving the payload. */
	uint8_t *hdr = pkt_push(p, 50);
	assert_ptr_equal(hdr, frame - 50);
	assert_int_equal(p->len, 57);
	assert_memory_equal(p->data + 50, "payload", 7);

	assert_non_null(pkt_push(p, PKT_HEADROOM - 50));
	assert_int_equal(pkt_headroom(p), 0);
	assert_null(pkt_push(p, 1));
	assert_int_equal(p->len, 7 + PKT_HEADROOM);

	assert_ptr_equal(pkt_pull(p, PKT_HEADROOM), frame);
	assert_int_equal(p->len, 7);
	assert_null(pkt_pull(p, 8));
	assert_int_equal(p->len, 7);
	assert_non_null(pkt_pull(p, 7));
	assert_int_equal(p->len, 0);
	assert_int_equal(pkt_tailroom(p), ROOM - 7);

	pkt_free(p);
	pkt_pool_destroy(pool);
}

static void
test_batch_free_returns_all(void **state)
{
	struct pkt_pool		*pool = pkt_pool_create(PKT_BATCH_MAX, ROOM);
	struct pkt_batch	 b;

	(void)state;
	pkt_batch_init(&b);
	for (int i = 0; i < PKT_BATCH_MAX; i++)
		pkt_batch_add(&b, pkt_alloc(pool));
	assert_int_equal(pkt_pool_avail(pool), 0);
	pkt_batch_free(&b);
	assert_int_equal(b.count, 0);
	assert_int_equal(pkt_pool_avail(pool), PKT_BATCH_MAX);
	pkt_pool_destroy(pool);
}

static void
test_bad_arguments(void **state)
{
	(void)state;
	errno = 0;
	assert_null(pkt_pool_create(0, ROOM));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(pkt_pool_create(4, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(pkt_pool_create(1u << 31, SIZE_MAX / 2));
	pkt_free(NULL);
	pkt_pool_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_exhaustion),
		cmocka_unit_test(test_buffers_are_separate_and_full_size),
		cmocka_unit_test(test_alloc_resets),
		cmocka_unit_test(test_push_pull_limits),
		cmocka_unit_test(test_batch_free_returns_all),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
