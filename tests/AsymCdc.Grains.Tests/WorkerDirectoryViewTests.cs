using AsymCdc.Serving;
using System.Net;
using Orleans.Runtime;

namespace AsymCdc.Grains.Tests;

/// <summary>Which silos <see cref="WorkerDirectory"/> offers to parity groups, from membership, roles and the manifest.</summary>
public sealed class WorkerDirectoryViewTests
{
    private static readonly SiloAddress Frontend = Silo(30001);
    private static readonly SiloAddress WorkerA = Silo(30002);
    private static readonly SiloAddress WorkerB = Silo(30003);
    private static readonly SiloAddress Joined = Silo(30004);

    private static readonly Dictionary<SiloAddress, IReadOnlyDictionary<string, string>> Roles = new()
    {
        [Frontend] = Role(SiloRoles.Frontend),
        [WorkerA] = Role(SiloRoles.GpuWorker),
        [WorkerB] = Role(SiloRoles.GpuWorker),
        [Joined] = Role(SiloRoles.GpuWorker),
    };

    [Fact]
    public void A_worker_that_membership_and_metadata_list_is_not_offered_until_the_manifest_has_it()
    {
        (SiloAddress, SiloStatus)[] members =
            [(WorkerB, SiloStatus.Active), (Joined, SiloStatus.Active), (Frontend, SiloStatus.Active), (WorkerA, SiloStatus.Active)];
        HashSet<SiloAddress> manifest = [Frontend, WorkerA, WorkerB];

        var before = WorkerDirectory.View(members, s => Roles[s], manifest.Contains);
        manifest.Add(Joined);
        var after = WorkerDirectory.View(members, s => Roles[s], manifest.Contains);

        Assert.Equal([WorkerA, WorkerB], before.Workers);
        Assert.False(before.Complete);
        Assert.Equal([WorkerA, WorkerB, Joined], after.Workers);
        Assert.True(after.Complete);
        Assert.Equal([Frontend], after.Frontends);
    }

    [Fact]
    public void A_silo_whose_roles_are_not_known_yet_is_left_out_and_the_view_is_incomplete()
    {
        (SiloAddress, SiloStatus)[] members = [(WorkerA, SiloStatus.Active), (WorkerB, SiloStatus.Active)];

        var view = WorkerDirectory.View(members, s => s == WorkerB ? new Dictionary<string, string>() : Roles[s], _ => true);

        Assert.Equal([WorkerA], view.Workers);
        Assert.False(view.Complete);
    }

    [Theory]
    [InlineData(SiloStatus.Joining)]
    [InlineData(SiloStatus.ShuttingDown)]
    [InlineData(SiloStatus.Stopping)]
    [InlineData(SiloStatus.Dead)]
    public void Only_active_silos_are_offered(SiloStatus status)
    {
        (SiloAddress, SiloStatus)[] members = [(WorkerA, SiloStatus.Active), (WorkerB, status)];

        var view = WorkerDirectory.View(members, s => Roles[s], _ => true);

        Assert.Equal([WorkerA], view.Workers);
        Assert.True(view.Complete);
    }

    [Fact]
    public void A_newcomer_takes_the_last_slot_of_a_group_and_the_others_keep_their_order()
    {
        SiloAddress[] picked = [Joined, WorkerA, WorkerB];

        WorkerPicker<SiloAddress>.PutLast(picked, s => s == Joined);

        Assert.Equal([WorkerA, WorkerB, Joined], picked);
    }

    [Fact]
    public void Two_newcomers_go_last_in_their_order_and_a_pick_of_only_newcomers_or_none_is_left_alone()
    {
        SiloAddress[] two = [Joined, WorkerA, Frontend, WorkerB];
        SiloAddress[] all = [WorkerB, WorkerA];
        SiloAddress[] none = [WorkerB, WorkerA];

        WorkerPicker<SiloAddress>.PutLast(two, s => s == Joined || s == Frontend);
        WorkerPicker<SiloAddress>.PutLast(all, _ => true);
        WorkerPicker<SiloAddress>.PutLast(none, _ => false);

        Assert.Equal([WorkerA, WorkerB, Joined, Frontend], two);
        Assert.Equal([WorkerB, WorkerA], all);
        Assert.Equal([WorkerB, WorkerA], none);
    }

    [Fact]
    public void The_first_view_has_no_newcomer_and_a_later_arrival_is_one_until_its_window_passes_picked_or_not()
    {
        var time = new ManualTime();
        var window = new NewcomerWindow(TimeSpan.FromSeconds(2), time);

        Assert.Empty(window.Note([WorkerA, WorkerB]));
        Assert.Equal([Joined], window.Note([WorkerA, WorkerB, Joined]));
        Assert.True(window.Contains(Joined));
        Assert.False(window.Contains(WorkerA));

        time.Advance(TimeSpan.FromSeconds(1.9));
        window.ForgetSeasoned();
        Assert.Equal(1, window.Count);

        // Never asked about since (a suspected newcomer is never picked): forgotten all the same.
        time.Advance(TimeSpan.FromSeconds(0.1));
        window.ForgetSeasoned();
        Assert.Equal(0, window.Count);
        Assert.False(window.Contains(Joined));
    }

    [Fact]
    public void A_newcomer_that_leaves_is_forgotten_and_an_empty_window_notes_none()
    {
        var time = new ManualTime();
        var window = new NewcomerWindow(TimeSpan.FromSeconds(2), time);
        window.Note([WorkerA]);
        window.Note([WorkerA, Joined]);

        window.Note([WorkerA]);

        Assert.Equal(0, window.Count);
        var off = new NewcomerWindow(TimeSpan.Zero, time);
        off.Note([WorkerA]);
        Assert.Empty(off.Note([WorkerA, Joined]));
    }

    private static SiloAddress Silo(int port) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 1);

    private static Dictionary<string, string> Role(string role) => new() { [SiloRoles.MetadataKey(role)] = "true" };
}
