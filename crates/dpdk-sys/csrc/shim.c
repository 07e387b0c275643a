/* See shim.h. Each function is a plain non-inline wrapper; no logic of its own. */
#include "shim.h"
#include <rte_thash.h>

/* Bits 62 and 63 do not survive bindgen as constants; lib.rs spells them out and
 * these keep the two in step. */
_Static_assert(RTE_ETH_RSS_L3_SRC_ONLY == (1ULL << 63), "RVS_ETH_RSS_L3_SRC_ONLY in lib.rs");
_Static_assert(RTE_ETH_RSS_L3_DST_ONLY == (1ULL << 62), "RVS_ETH_RSS_L3_DST_ONLY in lib.rs");

uint32_t rvs_softrss(const uint32_t *tuple, uint32_t words, const uint8_t *key)
{ return rte_softrss((uint32_t *)tuple, words, key); }

uint16_t rvs_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                          struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{ return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts); }

uint16_t rvs_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                          struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{ return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts); }

struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
void rvs_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
int rvs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count)
{ return rte_pktmbuf_alloc_bulk(mp, mbufs, count); }
void *rvs_pktmbuf_mtod(const struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
uint16_t rvs_pktmbuf_data_len(const struct rte_mbuf *m) { return rte_pktmbuf_data_len(m); }
uint32_t rvs_pktmbuf_pkt_len(const struct rte_mbuf *m) { return rte_pktmbuf_pkt_len(m); }
int rvs_pktmbuf_is_contiguous(const struct rte_mbuf *m) { return rte_pktmbuf_is_contiguous(m); }
uint16_t rvs_mbuf_port(const struct rte_mbuf *m) { return m->port; }
void rvs_mbuf_set_port(struct rte_mbuf *m, uint16_t port) { m->port = port; }
uint32_t rvs_mbuf_rss_hash(const struct rte_mbuf *m) { return m->hash.rss; }
uint64_t rvs_mbuf_ol_flags(const struct rte_mbuf *m) { return m->ol_flags; }
void rvs_mbuf_set_ol_flags(struct rte_mbuf *m, uint64_t flags) { m->ol_flags = flags; }
struct rte_mempool *rvs_mbuf_pool(const struct rte_mbuf *m) { return m->pool; }

int rvs_errno(void) { return rte_errno; }
void rvs_set_errno(int e) { rte_errno = e; }
unsigned int rvs_lcore_id(void) { return rte_lcore_id(); }
uint64_t rvs_rdtsc(void) { return rte_rdtsc(); }
uint64_t rvs_get_tsc_hz(void) { return rte_get_tsc_hz(); }
void rvs_pause(void) { rte_pause(); }

unsigned int rvs_ring_enqueue_burst(struct rte_ring *r, void *const *obj_table,
                                    unsigned int n, unsigned int *free_space)
{ return rte_ring_enqueue_burst(r, obj_table, n, free_space); }
unsigned int rvs_ring_dequeue_burst(struct rte_ring *r, void **obj_table,
                                    unsigned int n, unsigned int *available)
{ return rte_ring_dequeue_burst(r, obj_table, n, available); }
unsigned int rvs_ring_count(const struct rte_ring *r) { return rte_ring_count(r); }
unsigned int rvs_ring_free_count(const struct rte_ring *r) { return rte_ring_free_count(r); }
