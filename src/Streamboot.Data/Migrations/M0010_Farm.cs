using System.Data;
using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// The farm: what the boot script of any server needs to send a new boot to
/// another one. Each server publishes the addresses clients reach it on, its
/// NBD and iSCSI ports, its weight (a power rating: twice the weight, twice
/// the clients), how many clients may boot from it at once, and its load as
/// of its last heartbeat; <c>enabled</c> (from M0001) false means drained. A
/// boot records the server it was placed on, so placement counts the boots
/// each server has in flight before any of them has opened its disk.
/// </summary>
[Migration(10, "Farm: server addresses, weights, boot limits and load; boots placed on a server")]
public sealed class M0010_Farm : Migration
{
    public override void Up()
    {
        Alter.Table("servers")
            .AddColumn("addresses").AsString(1000).Nullable()
            .AddColumn("nbd_port").AsInt32().NotNullable().WithDefaultValue(0)
            .AddColumn("iscsi_port").AsInt32().NotNullable().WithDefaultValue(0)
            .AddColumn("weight").AsInt32().NotNullable().WithDefaultValue(1)
            .AddColumn("max_booting").AsInt32().NotNullable().WithDefaultValue(0)
            .AddColumn("live_sessions").AsInt32().NotNullable().WithDefaultValue(0)
            .AddColumn("booting").AsInt32().NotNullable().WithDefaultValue(0)
            .AddColumn("bytes_per_second").AsInt64().NotNullable().WithDefaultValue(0);
        Alter.Table("boots").AddColumn("server_id").AsInt64().Nullable();
        // SQLite cannot add a foreign key to an existing table: there the
        // column stays a plain one, and 'server remove' leaves ids of no row
        // (placement counts only servers that exist).
        IfDatabase(t => t.StartsWith("Postgres", StringComparison.OrdinalIgnoreCase))
            .Create.ForeignKey("fk_boots_server").FromTable("boots").ForeignColumn("server_id")
            .ToTable("servers").PrimaryColumn("id").OnDelete(Rule.SetNull);
        Create.Index("ix_boots_server_issued").OnTable("boots").OnColumn("server_id").Ascending().OnColumn("issued_at").Ascending();
    }

    public override void Down()
    {
        Delete.Index("ix_boots_server_issued").OnTable("boots");
        IfDatabase(t => t.StartsWith("Postgres", StringComparison.OrdinalIgnoreCase)).Delete.ForeignKey("fk_boots_server").OnTable("boots");
        Delete.Column("server_id").FromTable("boots");
        foreach (var column in new[] { "addresses", "nbd_port", "iscsi_port", "weight", "max_booting", "live_sessions", "booting", "bytes_per_second" })
        {
            Delete.Column(column).FromTable("servers");
        }
    }
}
