/* rvs C shim: non-inline wrappers for DPDK's static-inline data-path functions,
 * plus constants whose macros bindgen cannot evaluate (RTE_BIT64 & friends).
 * Every symbol is prefixed rvs_ / RVS_. */
#ifndef RVS_SHIM_H
#define RVS_SHIM_H

#include <stdint.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_malloc.h>

/* --- constants (bindgen evaluates these initialisers with clang) --- */
static const uint64_t RVS_ETH_RSS_IP = RTE_ETH_RSS_IP;
static const uint64_t RVS_ETH_RSS_TCP = RTE_ETH_RSS_TCP;
static const uint64_t RVS_ETH_RSS_UDP = RTE_ETH_RSS_UDP;
static const uint64_t RVS_ETH_RSS_PROTO_MASK = RTE_ETH_RSS_PROTO_MASK;
static const uint64_t RVS_ETH_TX_OFFLOAD_MBUF_FAST_FREE = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
static const uint64_t RVS_ETH_RX_OFFLOAD_RSS_HASH = RTE_ETH_RX_OFFLOAD_RSS_HASH;
static const uint64_t RVS_MBUF_F_RX_RSS_HASH = RTE_MBUF_F_RX_RSS_HASH;
static const uint32_t RVS_MAX_LCORE = RTE_MAX_LCORE;
static const uint32_t RVS_ETH_NAME_MAX_LEN = RTE_ETH_NAME_MAX_LEN;
static const uint32_t RVS_MEMPOOL_NAMESIZE = RTE_MEMPOOL_NAMESIZE;
static const uint32_t RVS_RING_NAMESIZE = RTE_RING_NAMESIZE;
static const uint32_t RVS_PKTMBUF_HEADROOM = RTE_PKTMBUF_HEADROOM;

/* --- RSS: DPDK's software Toeplitz (rte_thash.h), the reference rvs's own hash is
 * checked against. `tuple` holds `words` host-order 32-bit words. --- */
uint32_t rvs_softrss(const uint32_t *tuple, uint32_t words, const uint8_t *key);

/* --- ethdev fast path --- */
uint16_t rvs_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                          struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t rvs_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                          struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* --- mbuf --- */
struct rte_mbuf *rvs_pktmbuf_alloc(struct rte_mempool *mp);
void rvs_pktmbuf_free(struct rte_mbuf *m);
int rvs_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
                           unsigned int count);
void *rvs_pktmbuf_mtod(const struct rte_mbuf *m);
char *rvs_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
char *rvs_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
int rvs_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t rvs_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_tailroom(const struct rte_mbuf *m);
uint16_t rvs_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t rvs_pktmbuf_pkt_len(const struct rte_mbuf *m);
int rvs_pktmbuf_is_contiguous(const struct rte_mbuf *m);
uint16_t rvs_mbuf_port(const struct rte_mbuf *m);
void rvs_mbuf_set_port(struct rte_mbuf *m, uint16_t port);
uint32_t rvs_mbuf_rss_hash(const struct rte_mbuf *m);
uint64_t rvs_mbuf_ol_flags(const struct rte_mbuf *m);
void rvs_mbuf_set_ol_flags(struct rte_mbuf *m, uint64_t flags);
struct rte_mempool *rvs_mbuf_pool(const struct rte_mbuf *m);

/* --- errno, lcore, time --- */
int rvs_errno(void);
void rvs_set_errno(int e);
unsigned int rvs_lcore_id(void);
uint64_t rvs_rdtsc(void);
uint64_t rvs_get_tsc_hz(void);
void rvs_pause(void);

/* --- ring --- */
unsigned int rvs_ring_enqueue_burst(struct rte_ring *r, void *const *obj_table,
                                    unsigned int n, unsigned int *free_space);
unsigned int rvs_ring_dequeue_burst(struct rte_ring *r, void **obj_table,
                                    unsigned int n, unsigned int *available);
unsigned int rvs_ring_count(const struct rte_ring *r);
unsigned int rvs_ring_free_count(const struct rte_ring *r);

#endif
