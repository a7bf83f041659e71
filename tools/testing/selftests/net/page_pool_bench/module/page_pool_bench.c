// SPDX-License-Identifier: GPL-2.0
/*
 * page_pool benchmark: the cost per element of the driver API's recycling
 * paths, with and without DMA mapping, of recycling through skb free on the
 * pool's CPU and from another CPU, and the wall time of page_pool_destroy()
 * with pages in flight.
 *
 * Everything runs when the module loads. Each test prints one line:
 *
 *   page_pool_bench: test=NAME dma=0|1 n=ELEMENTS ns=NS_PER_ELEMENT cycles=C
 *
 * where cycles come from get_cycles() (0 where it has no counter). The
 * destroy tests time one page_pool_destroy() call (n=1) with pages=N out.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/ptr_ring.h>
#include <linux/skbuff.h>
#include <linux/timex.h>
#include <net/page_pool/helpers.h>

static unsigned int loops = 200000;
module_param(loops, uint, 0444);
MODULE_PARM_DESC(loops, "elements per recycling test (default 200000)");

static unsigned long destroy_pages[4] = { 1024, 65536, 1048576 };
static int nr_destroy = 3;
module_param_array(destroy_pages, ulong, &nr_destroy, 0444);
MODULE_PARM_DESC(destroy_pages,
		 "pages in flight for each destroy test (default 1024,65536,1048576)");

/* Bottom halves are enabled again every so many elements. */
#define BENCH_CHUNK	256
#define BENCH_POOL_SIZE	1024

static struct platform_device *bench_pdev;

struct bench_clock {
	u64 ns;
	cycles_t cycles;
};

static void bench_start(struct bench_clock *c)
{
	c->cycles = get_cycles();
	c->ns = ktime_get_ns();
}

static void bench_stop(struct bench_clock *c)
{
	c->ns = ktime_get_ns() - c->ns;
	c->cycles = get_cycles() - c->cycles;
}

static void bench_report(const char *name, bool dma, u64 n,
			 const struct bench_clock *c, const char *extra)
{
	u64 ps = div64_u64(c->ns * 1000, n);

	pr_info("test=%s dma=%d n=%llu ns=%llu.%03llu cycles=%llu%s\n", name,
		dma, n, ps / 1000, ps % 1000, div64_u64(c->cycles, n), extra);
}

static struct page_pool *bench_pool(bool dma, int cpuid)
{
	struct page_pool_params pp = {
		.order = 0,
		.pool_size = BENCH_POOL_SIZE,
		.nid = NUMA_NO_NODE,
		.dev = &bench_pdev->dev,
		.dma_dir = DMA_FROM_DEVICE,
		.max_len = PAGE_SIZE,
		.flags = dma ? PP_FLAG_DMA_MAP : 0,
	};

	return page_pool_create_percpu(&pp, cpuid);
}

enum bench_put {
	BENCH_DIRECT,	/* alloc cache: recycled from the pool's own context */
	BENCH_RING,	/* ptr_ring: returned as if from another context */
	BENCH_SLOW,	/* an extra reference: the page leaves the pool */
};

static void bench_put(struct page_pool *pool, struct page *page,
		      enum bench_put how)
{
	switch (how) {
	case BENCH_DIRECT:
		page_pool_recycle_direct(pool, page);
		break;
	case BENCH_RING:
		page_pool_put_full_page(pool, page, false);
		break;
	case BENCH_SLOW:
		get_page(page);
		page_pool_put_full_page(pool, page, false);
		put_page(page);
		break;
	}
}

/* Allocate and give back @loops pages, in softirq context as NAPI does. */
static int bench_recycle(const char *name, bool dma, enum bench_put how)
{
	struct bench_clock c;
	struct page_pool *pool;
	unsigned int i;
	int err = 0;

	pool = bench_pool(dma, -1);
	if (IS_ERR(pool))
		return PTR_ERR(pool);

	bench_start(&c);
	for (i = 0; i < loops && !err; i++) {
		struct page *page;

		if (i % BENCH_CHUNK == 0)
			local_bh_disable();
		page = page_pool_alloc_pages(pool, GFP_ATOMIC | __GFP_NOWARN);
		if (page)
			bench_put(pool, page, how);
		else
			err = -ENOMEM;
		if (i % BENCH_CHUNK == BENCH_CHUNK - 1 || i == loops - 1 || err)
			local_bh_enable();
	}
	bench_stop(&c);

	page_pool_destroy(pool);
	if (!err)
		bench_report(name, dma, loops, &c, "");
	return err;
}

/* A page_pool page as the head of an skb, marked for recycling. */
static struct sk_buff *bench_skb(struct page_pool *pool)
{
	struct sk_buff *skb;
	struct page *page;

	page = page_pool_alloc_pages(pool, GFP_ATOMIC | __GFP_NOWARN);
	if (!page)
		return NULL;
	skb = napi_build_skb(page_address(page), PAGE_SIZE);
	if (!skb) {
		page_pool_put_full_page(pool, page, false);
		return NULL;
	}
	skb_mark_for_recycle(skb);
	return skb;
}

/*
 * skb free on the pool's CPU: napi_pp_put_page() finds the pool from the
 * page and, in softirq context on the CPU the pool belongs to, recycles
 * straight into the alloc cache.
 */
static int bench_skb_local(bool dma)
{
	struct bench_clock c;
	struct page_pool *pool;
	unsigned int i;
	int err = 0;

	migrate_disable();
	pool = bench_pool(dma, smp_processor_id());
	if (IS_ERR(pool)) {
		migrate_enable();
		return PTR_ERR(pool);
	}

	bench_start(&c);
	for (i = 0; i < loops && !err; i++) {
		struct sk_buff *skb;

		if (i % BENCH_CHUNK == 0)
			local_bh_disable();
		skb = bench_skb(pool);
		if (skb)
			napi_consume_skb(skb, 1);
		else
			err = -ENOMEM;
		if (i % BENCH_CHUNK == BENCH_CHUNK - 1 || i == loops - 1 || err)
			local_bh_enable();
	}
	bench_stop(&c);

	page_pool_destroy(pool);
	migrate_enable();
	if (!err)
		bench_report("skb_free_local", dma, loops, &c, "");
	return err;
}

struct bench_remote {
	struct ptr_ring ring;
	unsigned int freed;
};

static int bench_remote_free(void *arg)
{
	struct bench_remote *r = arg;
	struct sk_buff *skb;

	while (!kthread_should_stop()) {
		skb = ptr_ring_consume(&r->ring);
		if (!skb) {
			cond_resched();
			continue;
		}
		consume_skb(skb);
		WRITE_ONCE(r->freed, r->freed + 1);
	}
	return 0;
}

/*
 * skb free on another CPU: the page goes back through the pool's ptr_ring,
 * from which the allocating CPU refills its cache. The time per element
 * covers both CPUs working in parallel.
 */
static int bench_skb_remote(bool dma)
{
	struct task_struct *consumer;
	struct bench_remote *r;
	struct bench_clock c;
	struct page_pool *pool;
	unsigned int i, sent = 0;
	int cpu, other, err;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	err = ptr_ring_init(&r->ring, BENCH_POOL_SIZE / 2, GFP_KERNEL);
	if (err)
		goto free;

	migrate_disable();
	cpu = smp_processor_id();
	other = cpumask_any_but(cpu_online_mask, cpu);
	if (other >= nr_cpu_ids) {
		migrate_enable();
		pr_info("test=skb_free_remote dma=%d skipped: one CPU online\n",
			dma);
		goto ring;
	}
	pool = bench_pool(dma, cpu);
	if (IS_ERR(pool)) {
		err = PTR_ERR(pool);
		goto enable;
	}
	consumer = kthread_create(bench_remote_free, r, "pp_bench/%d", other);
	if (IS_ERR(consumer)) {
		err = PTR_ERR(consumer);
		goto destroy;
	}
	kthread_bind(consumer, other);
	wake_up_process(consumer);

	bench_start(&c);
	for (i = 0; i < loops && !err; i++) {
		struct sk_buff *skb;

		if (i % BENCH_CHUNK == 0)
			local_bh_disable();
		skb = bench_skb(pool);
		if (skb) {
			while (ptr_ring_produce(&r->ring, skb))
				cpu_relax();
			sent++;
		} else {
			err = -ENOMEM;
		}
		if (i % BENCH_CHUNK == BENCH_CHUNK - 1 || i == loops - 1 || err)
			local_bh_enable();
	}
	while (READ_ONCE(r->freed) < sent)
		cpu_relax();
	bench_stop(&c);

	kthread_stop(consumer);
	if (!err)
		bench_report("skb_free_remote", dma, loops, &c, "");
destroy:
	page_pool_destroy(pool);
enable:
	migrate_enable();
ring:
	ptr_ring_cleanup(&r->ring, NULL);
free:
	kfree(r);
	return err;
}

/* page_pool_destroy() with @n pages in flight, then the pages come back. */
static int bench_destroy(unsigned long n)
{
	struct bench_clock c;
	struct page_pool *pool;
	struct page **pages;
	char extra[32];
	unsigned long i;
	int err = 0;

	if (n > totalram_pages() / 2) {
		pr_info("test=destroy dma=1 pages=%lu skipped: %lu pages of RAM\n",
			n, totalram_pages());
		return 0;
	}
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	pool = bench_pool(true, -1);
	if (IS_ERR(pool)) {
		err = PTR_ERR(pool);
		goto free;
	}
	for (i = 0; i < n; i++) {
		pages[i] = page_pool_alloc_pages(pool, GFP_KERNEL | __GFP_NOWARN);
		if (!pages[i]) {
			err = -ENOMEM;
			break;
		}
		cond_resched();
	}

	bench_start(&c);
	page_pool_destroy(pool);
	bench_stop(&c);

	/* The pool lives on until the last page is back. */
	while (i--) {
		page_pool_put_full_page(pool, pages[i], false);
		cond_resched();
	}
	if (!err) {
		snprintf(extra, sizeof(extra), " pages=%lu", n);
		bench_report("destroy", true, 1, &c, extra);
	}
free:
	kvfree(pages);
	return err;
}

static int __init page_pool_bench_init(void)
{
	static const struct {
		const char *name;
		enum bench_put how;
	} recycle[] = {
		{ "fast", BENCH_DIRECT },
		{ "ptr_ring", BENCH_RING },
		{ "slow", BENCH_SLOW },
	};
	int i, dma, err = 0;

	if (!loops)
		return -EINVAL;
	bench_pdev = platform_device_register_simple(KBUILD_MODNAME, -1,
						     NULL, 0);
	if (IS_ERR(bench_pdev))
		return PTR_ERR(bench_pdev);
	err = dma_coerce_mask_and_coherent(&bench_pdev->dev, DMA_BIT_MASK(64));
	if (err)
		goto out;

	for (i = 0; i < ARRAY_SIZE(recycle) && !err; i++)
		for (dma = 0; dma < 2 && !err; dma++)
			err = bench_recycle(recycle[i].name, dma, recycle[i].how);
	if (!err)
		err = bench_skb_local(true);
	if (!err)
		err = bench_skb_remote(true);
	for (i = 0; i < nr_destroy && !err; i++)
		err = bench_destroy(destroy_pages[i]);
	if (err)
		pr_err("failed: %d\n", err);
out:
	platform_device_unregister(bench_pdev);
	return err;
}

static void __exit page_pool_bench_exit(void)
{
}

module_init(page_pool_bench_init);
module_exit(page_pool_bench_exit);
MODULE_DESCRIPTION("page_pool recycling and destroy benchmark");
MODULE_LICENSE("GPL");
