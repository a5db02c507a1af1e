using AsymCdc.Hosting;

namespace AsymCdc.Reliability.Tests;

public sealed class MembershipLossRehearsalTests
{
    [Fact]
    public async Task The_survivor_declares_the_cut_off_silo_dead_and_both_silos_stop()
    {
        // Throws when the survivor's membership has not declared the lost silo dead within the limit.
        await MembershipLossRehearsal.RunAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
    }

    [Fact]
    public async Task A_rehearsal_that_cannot_finish_in_time_fails_rather_than_hangs()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => MembershipLossRehearsal.RunAsync(TimeSpan.FromMilliseconds(1), CancellationToken.None));
    }
}
