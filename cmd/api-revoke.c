/* api-revoke - take away access to a case and rotate its keys. */
#include "team.h"

int
main(int argc, char **argv)
{
	return team_main(argc, argv, 1);
}
