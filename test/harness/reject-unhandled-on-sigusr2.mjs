/**
 * Test-only fault, loaded into a service process by an end-to-end test (`node --import`, never by the service or
 * the image): on SIGUSR2 a promise rejects with nobody awaiting it, as a library's background request does when it
 * times out (kafkajs against a paused broker). Nothing of the service is changed.
 */
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('planted: a background request timed out'));
});
