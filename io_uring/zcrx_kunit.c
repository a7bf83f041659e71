// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of what a destroyed zcrx page pool gets back from io_uring.
 *
 * The cases drive zcrx's own code from the interface queue on: an ifq with
 * one area of user memory (kunit_vm_mmap()) DMA-mapped for a KUnit device,
 * a refill ring in kernel memory standing in for the one user space maps,
 * and a page pool on rx queue 0 of a netdev that is never registered, with
 * zcrx as its memory provider. User space is played by the case: it takes
 * user references as a completion would and returns buffers by writing
 * refill ring entries.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/mman.h>
#include <linux/netdevice.h>
#include <linux/workqueue.h>
#include <net/netdev_lock.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/memory_provider.h>
#include <uapi/linux/io_uring.h>

#include "zcrx.h"

#define ZCRX_TEST_NIOVS		16	/* buffers in the area, ring entries */
#define ZCRX_TEST_OUT		8	/* buffers the case hands to "user space" */

struct zcrx_test {
	struct io_zcrx_ifq *ifq;
	struct io_zcrx_area *area;
	void *ring;			/* header and entries of the refill ring */
	struct net_device *netdev;
	/* Set while a pool of the case exists: a case that ends with its
	 * pool still waiting leaves the ifq, the ring and the netdev to it.
	 */
	struct page_pool *pool;
};

static void zcrx_test_netdev_setup(struct net_device *dev)
{
}

static void zcrx_test_teardown(void *data)
{
	struct zcrx_test *t = data;

	if (t->pool) {
		pr_warn("zcrx test: pool %u outlived its case; ifq, ring and netdev leak\n",
			t->pool->user.id);
		return;
	}
	if (t->ifq) {
		scoped_guard(mutex, &t->ifq->pp_lock)
			io_zcrx_unmap_areas(t->ifq);
		io_put_zcrx_ifq(t->ifq);
	}
	kfree(t->ring);
	if (t->netdev)
		free_netdev(t->netdev);
}

static int zcrx_test_init(struct kunit *test)
{
	size_t rqes = ALIGN(sizeof(struct zcrx_rq_hdr), L1_CACHE_BYTES);
	struct io_uring_zcrx_area_reg reg = {
		.len = ZCRX_TEST_NIOVS * PAGE_SIZE,
	};
	struct page_pool_params pp = {
		.flags = PP_FLAG_ALLOW_UNREADABLE_NETMEM | PP_FLAG_DMA_MAP |
			 PP_FLAG_DMA_SYNC_DEV,
		.pool_size = ZCRX_TEST_NIOVS,
		.nid = NUMA_NO_NODE,
		.dma_dir = DMA_FROM_DEVICE,
		.max_len = PAGE_SIZE,
	};
	struct netdev_rx_queue *rxq;
	struct io_zcrx_ifq *ifq;
	struct zcrx_test *t;
	struct device *dev;
	struct page_pool *pool;
	unsigned long addr;
	int ret;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	test->priv = t;
	dev = kunit_device_register(test, "io_uring_zcrx_test");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)), 0);
	/* Registered after the device: it runs before the device goes. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, zcrx_test_teardown, t), 0);

	ifq = io_zcrx_ifq_alloc(NULL);
	KUNIT_ASSERT_NOT_NULL(test, ifq);
	t->ifq = ifq;
	ifq->dev = get_device(dev);
	ifq->kern_readable = true;	/* an area of user memory, not a dma-buf */

	t->ring = kzalloc(rqes + ZCRX_TEST_NIOVS * sizeof(struct io_uring_zcrx_rqe),
			  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->ring);
	ifq->rq.ring = t->ring;
	ifq->rq.rqes = t->ring + rqes;
	ifq->rq.nr_entries = ZCRX_TEST_NIOVS;

	addr = kunit_vm_mmap(test, NULL, 0, reg.len, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "no user memory for the area");
	reg.addr = addr;
	scoped_guard(mutex, &ifq->pp_lock)
		ret = __zcrx_create_area(ifq, &reg, 0);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_EQ(test, ifq->nr_areas, 1);
	t->area = ifq->areas[0];
	KUNIT_ASSERT_EQ(test, t->area->free_count, ZCRX_TEST_NIOVS);

	t->netdev = alloc_netdev_mqs(0, "zcrxtest%d", NET_NAME_UNKNOWN,
				     zcrx_test_netdev_setup, 1, 1);
	KUNIT_ASSERT_NOT_NULL(test, t->netdev);
	rxq = __netif_get_rx_queue(t->netdev, 0);
	rxq->mp_params.mp_ops = &io_uring_pp_zc_ops;
	rxq->mp_params.mp_priv = ifq;

	pp.dev = dev;
	pp.netdev = t->netdev;
	netdev_lock(t->netdev);
	pool = page_pool_create(&pp);
	netdev_unlock(t->netdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pool);
	t->pool = pool;
	/* The pool holds the ifq until it is freed: io_pp_zc_destroy(). */
	KUNIT_ASSERT_EQ(test, refcount_read(&ifq->refs), 2);

	return 0;
}

/* A buffer of the pool that "user space" got, as a completion gives it:
 * one user reference, which owns one pool reference.
 */
static netmem_ref zcrx_test_hand_out(struct kunit *test)
{
	struct zcrx_test *t = test->priv;
	netmem_ref netmem;

	netmem = page_pool_alloc_netmems(t->pool, GFP_KERNEL);
	KUNIT_ASSERT_TRUE_MSG(test, netmem, "the pool gave no buffer");
	KUNIT_ASSERT_TRUE(test, netmem_is_net_iov(netmem));
	io_zcrx_get_niov_uref(netmem_to_net_iov(netmem));

	return netmem;
}

/* "User space" returns @netmem through the refill ring. */
static void zcrx_test_refill(struct zcrx_test *t, netmem_ref netmem)
{
	struct zcrx_rq *rq = &t->ifq->rq;
	struct io_uring_zcrx_rqe *rqe;
	u32 tail = rq->ring->tail;

	rqe = &rq->rqes[tail & (rq->nr_entries - 1)];
	rqe->off = (u64)net_iov_idx(netmem_to_net_iov(netmem)) <<
		   t->ifq->niov_shift;
	rqe->len = PAGE_SIZE;
	rqe->__pad = 0;
	/* The entry before the tail, as user space publishes it. */
	smp_store_release(&rq->ring->tail, tail + 1);
}

static int zcrx_test_user_refs(struct zcrx_test *t, netmem_ref netmem)
{
	return atomic_read(&t->area->user_refs[net_iov_idx(netmem_to_net_iov(netmem))]);
}

static void zcrx_test_destroy(struct zcrx_test *t)
{
	netdev_lock(t->netdev);
	page_pool_destroy(t->pool);
	netdev_unlock(t->netdev);
}

/* Whether the pool was freed: its ->destroy dropped its ifq reference. */
static bool zcrx_test_pool_freed(struct zcrx_test *t)
{
	if (refcount_read(&t->ifq->refs) != 1)
		return false;
	t->pool = NULL;
	return true;
}

/* Everything user space had was returned through the refill ring before the
 * pool was destroyed, and no live pool pulls from the ring: destroy must not
 * wait for those buffers.
 */
static void zcrx_test_scrub_frees_pool(struct kunit *test)
{
	struct zcrx_test *t = test->priv;
	netmem_ref out[ZCRX_TEST_OUT];
	unsigned int i;
	int refs;

	for (i = 0; i < ZCRX_TEST_OUT; i++)
		out[i] = zcrx_test_hand_out(test);
	for (i = 0; i < ZCRX_TEST_OUT; i++)
		zcrx_test_refill(t, out[i]);

	zcrx_test_destroy(t);

	KUNIT_EXPECT_TRUE_MSG(test, zcrx_test_pool_freed(t),
			      "the destroyed pool waits for buffers user space returned");
	KUNIT_EXPECT_EQ_MSG(test, t->ifq->rq.ring->head, t->ifq->rq.ring->tail,
			    "refill ring not drained");
	KUNIT_EXPECT_EQ(test, t->area->free_count, ZCRX_TEST_NIOVS);
	for (i = 0, refs = 0; i < ZCRX_TEST_OUT; i++)
		refs += zcrx_test_user_refs(t, out[i]);
	KUNIT_EXPECT_EQ_MSG(test, refs, 0, "user references left on returned buffers");
}

/* Half of what user space got is returned through the ring, half is still
 * held, and one more buffer is held the way an skb holds one. Destroy
 * takes back what was returned and leaves the held buffers as they are:
 * user space may still read them. Once they come back too, one release
 * attempt frees the pool.
 */
static void zcrx_test_scrub_keeps_held(struct kunit *test)
{
	struct zcrx_test *t = test->priv;
	netmem_ref out[ZCRX_TEST_OUT], pin;
	struct workqueue_struct *wq;
	struct page_pool *pool;
	unsigned int i;

	for (i = 0; i < ZCRX_TEST_OUT; i++)
		out[i] = zcrx_test_hand_out(test);
	pin = page_pool_alloc_netmems(t->pool, GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, pin);
	for (i = 0; i < ZCRX_TEST_OUT / 2; i++)
		zcrx_test_refill(t, out[i]);

	pool = t->pool;
	zcrx_test_destroy(t);

	KUNIT_ASSERT_FALSE_MSG(test, zcrx_test_pool_freed(t),
			       "the pool was freed with buffers still held");
	KUNIT_EXPECT_EQ_MSG(test, t->ifq->rq.ring->head, t->ifq->rq.ring->tail,
			    "refill ring not drained");
	/* The rest of the pool's alloc cache and the returned half. */
	KUNIT_EXPECT_EQ(test, t->area->free_count,
			ZCRX_TEST_NIOVS - ZCRX_TEST_OUT - 1 + ZCRX_TEST_OUT / 2);
	for (i = ZCRX_TEST_OUT / 2; i < ZCRX_TEST_OUT; i++) {
		KUNIT_EXPECT_EQ_MSG(test, zcrx_test_user_refs(t, out[i]), 1,
				    "a buffer user space holds lost its reference");
		KUNIT_EXPECT_EQ(test,
				atomic_long_read(netmem_get_pp_ref_count_ref(out[i])),
				1);
		KUNIT_EXPECT_PTR_EQ(test, netmem_get_pp(out[i]), pool);
	}

	/* The pin keeps the pool alive while its periodic release attempts
	 * are stopped; from here on, only this case's attempt runs.
	 */
	wq = alloc_workqueue("zcrx_test", WQ_UNBOUND, 1);
	KUNIT_ASSERT_NOT_NULL(test, wq);
	cancel_delayed_work_sync(&pool->release_dw);
	for (i = ZCRX_TEST_OUT / 2; i < ZCRX_TEST_OUT; i++)
		zcrx_test_refill(t, out[i]);
	page_pool_put_full_netmem(pool, pin, false);

	queue_delayed_work(wq, &pool->release_dw, 0);
	/* Not flush_delayed_work(): the work may free the pool it is in. */
	flush_workqueue(wq);
	destroy_workqueue(wq);

	KUNIT_EXPECT_TRUE_MSG(test, zcrx_test_pool_freed(t),
			      "a release attempt left the pool waiting for returned buffers");
	KUNIT_EXPECT_EQ(test, t->area->free_count, ZCRX_TEST_NIOVS);
}

static struct kunit_case zcrx_test_cases[] = {
	KUNIT_CASE(zcrx_test_scrub_frees_pool),
	KUNIT_CASE(zcrx_test_scrub_keeps_held),
	{}
};

static struct kunit_suite zcrx_test_suite = {
	.name = "io_uring_zcrx",
	.init = zcrx_test_init,
	.test_cases = zcrx_test_cases,
};

kunit_test_suite(zcrx_test_suite);

MODULE_DESCRIPTION("KUnit tests for io_uring zero-copy receive");
MODULE_LICENSE("GPL");
